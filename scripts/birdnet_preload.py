"""Imported by the warm workers' fork server when the birdnet branch is on (``workers.PRELOAD``).

Loads the BirdNET interpreter and runs it once, so every worker forked from the
server starts with it loaded and its kernels set up: no embedding job pays
for it (about 1.8 s per process otherwise).
"""

import birdnet

birdnet.warm_up()
