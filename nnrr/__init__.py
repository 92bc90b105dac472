"""NNRR: the Norwegian Neck and Back Registry (Norsk nakke- og ryggregister)."""
