"""Process definitions as designers deploy them: the XML gate, validation and
deployment of versions, and the catalog of deployed processes and decisions.
"""
