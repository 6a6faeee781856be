"""`python -m bot`: the same as the `parallels-bot` console script."""

import sys

from bot.cli import main

sys.exit(main())
