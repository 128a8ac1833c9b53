"""Short codes for code-mode sessions, like magic-wormhole's: ``7-guitar-ocean``.

A code is a number (1-999) and two words from a list of 256, about 26 bits: little for an
offline search, plenty for a PAKE, where each wrong guess costs the attacker one live handshake
that the listener sees fail.  The words are plain, distinct in their first three letters, and
easy to say aloud.
"""

from __future__ import annotations

import secrets

WORDS = (  # noqa: SIM905 (a word list reads best as text)
    "acid about actor adult again agent album alert alley amber anchor angle apple april arena armor "
    "arrow atlas atom audio autumn avenue award bacon badge baker bamboo banjo barrel basil beach "
    "beetle bench berry bicycle bishop blanket blossom bonus border bottle bounce bracket bread bridge "
    "bronze bubble bucket buffalo bundle burger butter cabin cactus camera canal carbon "
    "castle cattle cedar cement cherry chimney circus citrus clever cloud cobalt coconut "
    "comet copper coral cotton cousin crayon cricket crystal cupboard curtain cycle dagger "
    "dancer debate decade delta denim desert diamond dinner doctor dolphin donkey dragon drum duck "
    "eagle earth echo eclipse elbow elder ember empire energy engine escape evening fabric "
    "falcon family feather fence ferry fiber field finger flame flower forest fossil "
    "frozen fruit galaxy garden gentle giant ginger glacier globe golden gravel guitar "
    "habit hammer harbor hazel helmet hero hidden hockey honey horizon hotel humble hunter "
    "icicle igloo impact indigo insect island ivory jacket jaguar jelly jigsaw jockey journey jungle "
    "kayak kettle kidney kingdom kitchen koala ladder lagoon lantern laptop lemon lesson "
    "letter liquid lizard lobster locket lumber magnet mango marble meadow melody mirror "
    "monkey motor muffin museum napkin native needle nephew noble noodle nutmeg oasis ocean "
    "olive onion orbit orchid ostrich otter oyster paddle palace panda paper parrot pasta peanut "
    "pebble pencil pepper piano pigeon pillow pirate planet pocket poetry potato puzzle pyramid "
    "quartz quiet rabbit radar raisin rapid raven recipe rescue ribbon river robot rocket "
    "saddle salmon sandal saturn scarf school season shadow shovel signal silver sketch slogan "
    "socket spider sponge squid stable summit sunset "
).split()


def generate_code() -> str:
    """A fresh code such as ``7-guitar-ocean`` (number and words from ``secrets``)."""
    return f"{secrets.randbelow(999) + 1}-{secrets.choice(WORDS)}-{secrets.choice(WORDS)}"
