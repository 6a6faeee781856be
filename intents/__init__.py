"""The catalogue of the article's problems and the French matcher."""
