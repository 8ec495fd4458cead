from goinstrument.cli import main

raise SystemExit(main())
