"""One-shot local runs behind ``runtara run``: an embedded runtime, one instance, its output.

``request`` checks what the command line asked for; ``launch`` generates the module (or
finds a compiled binary), starts it as a child process the way a runner would, and
waits for the instance to end.
"""
