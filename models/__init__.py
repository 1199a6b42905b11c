"""Model definitions of ed-brian (installed as ``ed_brian.models``).

Each module holds the equations of one network variant; ``ed_brian.network``
assembles them into a Brian2 ``Network``.
"""
