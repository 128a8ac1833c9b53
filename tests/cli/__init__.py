"""The command line, through subprocesses, a pseudo-terminal and click's runner."""
