from goinstrument import main

raise SystemExit(main())
