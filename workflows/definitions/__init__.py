"""Process definitions as designers deploy them: the XML gate, validation and
deployment of versions, and the catalog of deployed processes and decisions.
"""

#: The change note (版本说明) of a version deployed from the command line without --note. Here,
#: not in deployment.py, so the command table can show it without loading the deployment code.
CLI_NOTE = "命令行部署"
