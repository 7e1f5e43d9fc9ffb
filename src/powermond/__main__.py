from powermond.cli import main

raise SystemExit(main())
