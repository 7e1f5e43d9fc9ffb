"""``powermon demo``: the whole system on loopback, against a simulated world.

One load function per machine drives everything the demo fabricates: the watts, amps and
energy counters its simulated PDUs serve over SNMP (snmpsim), the Ganglia RRD files, and the
back-filled history. So the plot and the report tell one consistent story.
"""
