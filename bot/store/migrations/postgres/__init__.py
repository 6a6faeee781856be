"""PostgreSQL migrations: `NNNN_name.sql`, applied in order, each once, under an advisory lock."""
