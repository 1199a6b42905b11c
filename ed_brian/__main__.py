from ed_brian.cli import main

raise SystemExit(main())
