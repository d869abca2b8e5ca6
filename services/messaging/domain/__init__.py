"""The messaging domain: plain typed values and rules, no I/O, no nameko."""
