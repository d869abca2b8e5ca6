"""The directory's adapters: tables, the Annuaire Santé extract reader, bulk writers."""
