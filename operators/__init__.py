"""The assignment domain: who holds which order, the rules, and the log of every change."""
