// Package providerevents is what the product tells other systems when a
// provider changes: an event on Amazon EventBridge for every status change
// (and, once providers carry one, every health change), read from the
// table's stream (the old and new image of each provider write), so that an
// event is never lost between the change and its publication: the change
// is the stream record, and the publisher (functions/publish-events) is
// retried by Lambda until EventBridge accepts it.
//
// The detail's shape is documented as JSON Schema beside this file
// (status-changed.schema.json, health-changed.schema.json); the tests
// validate every event against it.
package providerevents

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// The events' source and detail types.
const (
	Source           = "partner-cloud.azure"
	DetailTypeStatus = "Provider Status Changed"
	DetailTypeHealth = "Provider Health Changed"
)

// StatusChanged is the detail of a Provider Status Changed event.
type StatusChanged struct {
	// EventID is stable for one change (the provider, its version after the
	// change, and the kind): a consumer that receives an event twice (the
	// stream and EventBridge deliver at least once) drops the second.
	EventID    string `json:"eventId"`
	AccountID  string `json:"accountId"`
	ProviderID string `json:"providerId"`
	Option     string `json:"option"`
	// OldStatus is null for a provider just created.
	OldStatus *string   `json:"oldStatus"`
	NewStatus string    `json:"newStatus"`
	Time      time.Time `json:"time"`
}

// Finding is one reason a provider's health needs attention.
type Finding struct {
	What  string    `json:"what"`
	Since time.Time `json:"since"`
	Do    string    `json:"do"`
}

// HealthChanged is the detail of a Provider Health Changed event.
type HealthChanged struct {
	EventID    string    `json:"eventId"`
	AccountID  string    `json:"accountId"`
	ProviderID string    `json:"providerId"`
	Option     string    `json:"option"`
	OldHealth  *string   `json:"oldHealth"`
	NewHealth  string    `json:"newHealth"`
	Findings   []Finding `json:"findings"`
	Time       time.Time `json:"time"`
}

// Event is one event to publish: its detail type and detail, and the
// provider it is about.
type Event struct {
	DetailType string
	Detail     any
	ProviderID string
	Time       time.Time
}

// Changes are the events one stream record of a provider item carries: a
// status change (a provider created, or its status different from the old
// image's) and a health change. Records of other items, removals and writes
// that changed neither give none. An image it cannot read is an error.
func Changes(r events.DynamoDBEventRecord) ([]Event, error) {
	if r.EventName == string(events.DynamoDBOperationTypeRemove) || !strings.HasPrefix(str(r.Change.Keys, "sk"), "PROVIDER#") {
		return nil, nil
	}
	newImg, oldImg := r.Change.NewImage, r.Change.OldImage
	if newImg == nil {
		return nil, fmt.Errorf("providerevents: record %s has no new image (the stream must carry NEW_AND_OLD_IMAGES)", r.Change.SequenceNumber)
	}
	id, account, option := str(newImg, "id"), str(newImg, "accountId"), str(newImg, "option")
	if id == "" || account == "" {
		return nil, fmt.Errorf("providerevents: record %s: provider image without id or account", r.Change.SequenceNumber)
	}
	version := str(newImg, "version")
	if _, err := strconv.Atoi(version); err != nil {
		return nil, fmt.Errorf("providerevents: record %s: provider %s: version %q", r.Change.SequenceNumber, id, version)
	}
	at, err := time.Parse(time.RFC3339Nano, str(newImg, "updatedAt"))
	if err != nil {
		return nil, fmt.Errorf("providerevents: record %s: provider %s: updatedAt: %w", r.Change.SequenceNumber, id, err)
	}
	var out []Event
	if before, after := optional(oldImg, "status"), str(newImg, "status"); after != "" && (before == nil || *before != after) {
		out = append(out, Event{DetailType: DetailTypeStatus, ProviderID: id, Time: at, Detail: StatusChanged{
			EventID: id + "/" + version + "/status", AccountID: account, ProviderID: id, Option: option,
			OldStatus: before, NewStatus: after, Time: at,
		}})
	}
	before, after := healthOf(oldImg), healthOf(newImg)
	if after != nil && (before == nil || before.status != after.status) {
		var old *string
		if before != nil {
			old = &before.status
		}
		out = append(out, Event{DetailType: DetailTypeHealth, ProviderID: id, Time: at, Detail: HealthChanged{
			EventID: id + "/" + version + "/health", AccountID: account, ProviderID: id, Option: option,
			OldHealth: old, NewHealth: after.status, Findings: after.findings, Time: at,
		}})
	}
	return out, nil
}

// str is a string attribute of an image, "" when absent or not a string
// (numbers are strings in DynamoDB's wire format too).
func str(img map[string]events.DynamoDBAttributeValue, name string) string {
	v, ok := img[name]
	if !ok {
		return ""
	}
	switch v.DataType() {
	case events.DataTypeString:
		return v.String()
	case events.DataTypeNumber:
		return v.Number()
	}
	return ""
}

func optional(img map[string]events.DynamoDBAttributeValue, name string) *string {
	if s := str(img, name); s != "" {
		return &s
	}
	return nil
}

type health struct {
	status   string
	findings []Finding
}

// healthOf reads a provider image's health (a map with status and
// findings), nil when it has none.
func healthOf(img map[string]events.DynamoDBAttributeValue) *health {
	v, ok := img["health"]
	if !ok || v.DataType() != events.DataTypeMap {
		return nil
	}
	m := v.Map()
	h := &health{status: str(m, "status"), findings: []Finding{}}
	if h.status == "" {
		return nil
	}
	if f, ok := m["findings"]; ok && f.DataType() == events.DataTypeList {
		for _, item := range f.List() {
			if item.DataType() != events.DataTypeMap {
				continue
			}
			fm := item.Map()
			since, _ := time.Parse(time.RFC3339Nano, str(fm, "since"))
			h.findings = append(h.findings, Finding{What: str(fm, "what"), Since: since, Do: str(fm, "do")})
		}
	}
	return h
}
