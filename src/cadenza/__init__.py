"""cadenza: plans a tree of LLM calls to meet your requirements within a budget."""
