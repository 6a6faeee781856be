"""The Parallels account-support bot: configuration, engine, store, workers and command line."""
