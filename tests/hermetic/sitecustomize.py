"""Start-up hook of every Python process the tests start: install the network and store guard."""

import netguard

netguard.install_from_env()
