"""Answers: extractive quotes or abstention, the LLM answer and its sentence check."""
