"""Credit context: credit lines, reservations, debt, payments."""
