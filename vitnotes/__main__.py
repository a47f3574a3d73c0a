from vitnotes.cli import main

raise SystemExit(main())
