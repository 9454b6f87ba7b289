"""``python -m desk_client``: see ``desk_client.cli``."""
import sys

from .cli import main

sys.exit(main())
