"""Policy evaluation: the input document, the engines and their decisions."""
