"""SNMP access to PDUs: the client (pysnmp) and the vendor profiles."""
