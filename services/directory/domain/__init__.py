"""The directory's domain: professionals, activities, organisations, mailboxes, certificates, CPTS."""
