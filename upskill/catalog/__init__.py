"""Skills, AI job roles, programs, courses, lessons; content packages and their releases."""
