"""``python -m prompts say number 2025``: the prompts commands without the gateway's CLI."""

import sys

from prompts.cli import main

sys.exit(main())
