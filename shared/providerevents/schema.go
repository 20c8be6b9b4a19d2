package providerevents

import _ "embed"

// The JSON Schemas of the events' details, by detail type: the documented
// contract for consumers, and what the tests validate every event against.
var (
	//go:embed status-changed.schema.json
	statusSchema []byte
	//go:embed health-changed.schema.json
	healthSchema []byte
)

// Schema is the JSON Schema of the detail of detailType, nil for an unknown
// one.
func Schema(detailType string) []byte {
	switch detailType {
	case DetailTypeStatus:
		return statusSchema
	case DetailTypeHealth:
		return healthSchema
	}
	return nil
}
