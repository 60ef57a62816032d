"""The UPD (универсальный передаточный документ) of a shipping document, FNS format 5.03."""
