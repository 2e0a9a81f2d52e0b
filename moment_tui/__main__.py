from moment_tui.cli import main

raise SystemExit(main())
