"""The messaging service's outside: storage, the directory client, MIME and CMS, HTTP and FHIR mappers."""
