"""The paper: EMA teacher, TSCS, QDW and the compared methods, readable in ten minutes."""
