"""Work on human tasks besides completing them: claim, delegate, transfer, urge (催办),
comments, and the in-app notifications they and the deadlines raise."""
