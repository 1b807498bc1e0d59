"""The catalog: Glue-shaped databases, tables, versions and partitions (local SQLite or AWS Glue)."""
