package cloud

import "strings"

// FirstMigrationBody is the POST /providers body of the first migration the
// ready screen and the README show: the migrate option for the scenario's
// contoso administrator, one subscription where the partner principal will
// hold Owner and one where it must be granted, the current terms.
const FirstMigrationBody = `{"name":"Contoso production","type":"azure","option":"migrate",
       "azureAdminEmail":"admin@contoso.example",
       "subscriptionIds":["20000000-0000-4000-8000-000000000101","20000000-0000-4000-8000-000000000102"],
       "acceptedTerms":{"partner":"2017-08","microsoft":"2017-08"}}`

// FirstMigrationKey is the Idempotency-Key of that request: running the
// command twice answers the same provider.
const FirstMigrationKey = "first-migration"

// FirstMigrationCurl is the shell command that creates the first migration
// against the API at apiURL, with the token in $TOKEN. The README holds the
// same text for http://127.0.0.1:3000 (a test compares them).
func FirstMigrationCurl(apiURL string) string {
	return strings.Join([]string{
		"curl -s -X POST " + strings.TrimRight(apiURL, "/") + "/providers \\",
		`  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \`,
		"  -H 'Idempotency-Key: " + FirstMigrationKey + "' \\",
		"  -d '" + FirstMigrationBody + "'",
	}, "\n")
}
