package gdap

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/partnercloud/azure/shared/config"
)

// Role definition ids (Microsoft Entra built-in role templates) the
// configuration names.
const (
	GlobalAdministrator       = "62e90394-69f5-4237-9190-012177145e10"
	DirectoryReaders          = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
	ServiceSupportAdmin       = "f023fd81-a637-4b56-95fd-791ac0226033"
	DefaultDuration           = "P730D"
	DefaultAutoExtendDuration = "P180D"
	// DefaultAdminCenter is the Microsoft 365 admin center, where the
	// customer approves the relationships.
	DefaultAdminCenter = "https://admin.microsoft.com"
)

// DefaultRoles is the least-privilege role template: read the customer's
// directory (Directory Readers) and open and follow Microsoft support
// requests for it (Service Support Administrator). Neither can change
// users, roles or billing; an Azure subscription's management comes from
// Azure RBAC, not from these directory roles.
var DefaultRoles = []string{DirectoryReaders, ServiceSupportAdmin}

// Config is the admin relationship the partner asks each customer for.
type Config struct {
	// Roles are the relationship's role definition ids.
	Roles []string
	// Duration (ISO 8601, P1D to P2Y) and AutoExtend (PT0S, P0D or P180D).
	Duration   string
	AutoExtend string
	// SecurityGroupID is the partner's security group given AccessRoles
	// (a subset of Roles; default all of them) once the relationship is
	// active. Empty: no access assignment.
	SecurityGroupID string
	AccessRoles     []string
}

// ConfigFromEnv reads GDAP_ROLES (comma-separated role definition ids,
// default DefaultRoles), GDAP_DURATION (default P730D), GDAP_AUTO_EXTEND
// (default P180D), GDAP_SECURITY_GROUP_ID and GDAP_ACCESS_ROLES (default
// GDAP_ROLES), and records every problem in env, naming the variable.
func ConfigFromEnv(env *config.Env) Config {
	c := Config{
		Roles:           list(env.Optional("GDAP_ROLES", "")),
		Duration:        env.Optional("GDAP_DURATION", DefaultDuration),
		AutoExtend:      env.Optional("GDAP_AUTO_EXTEND", DefaultAutoExtendDuration),
		SecurityGroupID: env.Optional("GDAP_SECURITY_GROUP_ID", ""),
		AccessRoles:     list(env.Optional("GDAP_ACCESS_ROLES", "")),
	}
	if len(c.Roles) == 0 {
		c.Roles = slices.Clone(DefaultRoles)
	}
	for _, p := range c.Problems() {
		env.Invalid(p.Variable, p.Why, p.Value)
	}
	return c
}

func list(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Problem is one reason a Config cannot be used.
type Problem struct {
	Variable, Why, Value string
}

// Validate returns the configuration's problems as one error, or nil.
func (c Config) Validate() error {
	var msgs []string
	for _, p := range c.Problems() {
		msgs = append(msgs, fmt.Sprintf("%s %s, got %q", p.Variable, p.Why, p.Value))
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("GDAP configuration: %s", strings.Join(msgs, "; "))
}

// Problems lists what is wrong, each named by its environment variable:
// role ids that are not GUIDs, a duration outside Graph's P1D–P2Y, an
// auto-extend other than PT0S/P0D/P180D, Global Administrator together
// with auto-extend (Graph refuses to extend such a relationship), access
// roles outside the relationship's roles, a group id that is not a GUID.
func (c Config) Problems() []Problem {
	var out []Problem
	roles := strings.Join(c.Roles, ",")
	if len(c.Roles) == 0 {
		out = append(out, Problem{"GDAP_ROLES", "must name at least one role definition id", roles})
	}
	for _, r := range c.Roles {
		if !isGUID(r) {
			out = append(out, Problem{"GDAP_ROLES", "must be comma-separated role definition ids (GUIDs)", roles})
			break
		}
	}
	if d, err := ParseDuration(c.Duration); err != nil || d < 24*time.Hour || d > 730*24*time.Hour {
		out = append(out, Problem{"GDAP_DURATION", "must be an ISO 8601 duration from P1D to P2Y (P730D)", c.Duration})
	}
	if !slices.Contains([]string{"PT0S", "P0D", "P180D"}, c.AutoExtend) {
		out = append(out, Problem{"GDAP_AUTO_EXTEND", "must be P180D, or PT0S for none", c.AutoExtend})
	}
	if c.AutoExtends() && slices.Contains(c.Roles, GlobalAdministrator) {
		out = append(out, Problem{"GDAP_ROLES", "must not include Global Administrator (" + GlobalAdministrator + ") while GDAP_AUTO_EXTEND extends the relationship: Microsoft refuses to extend it", roles})
	}
	if c.SecurityGroupID != "" && !isGUID(c.SecurityGroupID) {
		out = append(out, Problem{"GDAP_SECURITY_GROUP_ID", "must be the partner security group's object id (a GUID)", c.SecurityGroupID})
	}
	for _, r := range c.AccessRoles {
		if !slices.Contains(c.Roles, r) {
			out = append(out, Problem{"GDAP_ACCESS_ROLES", "must be role definition ids among GDAP_ROLES", strings.Join(c.AccessRoles, ",")})
			break
		}
	}
	return out
}

// AutoExtends reports whether the relationship is extended automatically.
func (c Config) AutoExtends() bool {
	return c.AutoExtend != "PT0S" && c.AutoExtend != "P0D" && c.AutoExtend != ""
}

// AssignmentRoles are the roles of the security group's access assignment.
func (c Config) AssignmentRoles() []string {
	if len(c.AccessRoles) > 0 {
		return c.AccessRoles
	}
	return c.Roles
}

func isGUID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && len(s) == 36 && u.String() == strings.ToLower(s)
}

// ParseDuration reads an ISO 8601 duration (PnYnMnWnDTnHnMnS, each part
// optional but at least one present) with a year of 365 days and a month
// of 30, as Graph counts P2Y as 730 days. Hand-written: Go's time package
// reads only its own format, and a regular expression would be compiled at
// every cold start that reads the configuration.
func ParseDuration(s string) (time.Duration, error) {
	rest, ok := strings.CutPrefix(s, "P")
	date, clock, hasT := strings.Cut(rest, "T")
	if !ok || rest == "" || hasT && clock == "" {
		return 0, fmt.Errorf("not an ISO 8601 duration: %q", s)
	}
	d1, ok1 := durationParts(date, dateUnits)
	d2, ok2 := durationParts(clock, timeUnits)
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("not an ISO 8601 duration: %q", s)
	}
	return d1 + d2, nil
}

type durationUnit struct {
	designator byte
	length     time.Duration
}

var (
	dateUnits = []durationUnit{{'Y', 365 * 24 * time.Hour}, {'M', 30 * 24 * time.Hour}, {'W', 7 * 24 * time.Hour}, {'D', 24 * time.Hour}}
	timeUnits = []durationUnit{{'H', time.Hour}, {'M', time.Minute}, {'S', time.Second}}
)

// durationParts reads "nXnY…" with the designators in units' order, each
// at most once, each number at most six digits.
func durationParts(part string, units []durationUnit) (time.Duration, bool) {
	var total time.Duration
	next := 0
	for part != "" {
		i := strings.IndexFunc(part, func(r rune) bool { return r < '0' || r > '9' })
		if i <= 0 || i > 6 {
			return 0, false
		}
		n := 0
		for _, d := range part[:i] {
			n = n*10 + int(d-'0')
		}
		for next < len(units) && units[next].designator != part[i] {
			next++
		}
		if next == len(units) {
			return 0, false
		}
		total += time.Duration(n) * units[next].length
		next++
		part = part[i+1:]
	}
	return total, true
}

// DisplayNamePrefix starts every relationship's display name: the customer
// sees it on the approval page.
const DisplayNamePrefix = "Partner Cloud "

// MaxDisplayName is Graph's limit on a relationship's display name.
const MaxDisplayName = 50

// DisplayName is the relationship's display name for a provider: derived
// from the provider id only, so every run of the workflow finds the
// relationship an earlier run created; unique per partner because provider
// ids are; within Graph's 50 characters (a longer id is replaced by a
// SHA-256 prefix of it).
func DisplayName(providerID string) string {
	name := DisplayNamePrefix + providerID
	if len(name) <= MaxDisplayName && safeName(providerID) {
		return name
	}
	sum := sha256.Sum256([]byte(providerID))
	return DisplayNamePrefix + hex.EncodeToString(sum[:])[:MaxDisplayName-len(DisplayNamePrefix)]
}

func safeName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return s != ""
}

// Links are the Microsoft 365 admin center pages where the customer accepts
// the partner's relationships.
type Links struct {
	// AdminCenter is the admin center's base URL; default DefaultAdminCenter.
	AdminCenter string
	// PartnerTenantID is the partner's tenant (the reseller invitation's partnerId).
	PartnerTenantID string
}

// LinksFromEnv reads ADMIN_CENTER_URL (default DefaultAdminCenter, an
// absolute https URL) and PARTNER_TENANT_ID.
func LinksFromEnv(env *config.Env) Links {
	base := env.Check("ADMIN_CENTER_URL", DefaultAdminCenter, func(v string) string {
		if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return "must be an absolute https URL"
		}
		return ""
	})
	return Links{AdminCenter: base, PartnerTenantID: env.Required("PARTNER_TENANT_ID")}
}

func (l Links) base() string {
	if l.AdminCenter == "" {
		return DefaultAdminCenter
	}
	return strings.TrimRight(l.AdminCenter, "/")
}

// Approval is the page where the customer's Global Administrator approves
// the admin relationship id.
func (l Links) Approval(relationshipID string) string {
	return l.base() + "/AdminPortal/Home#/partners/invitation/granularAdminRelationships/" + url.PathEscape(relationshipID)
}

// ResellerInvitation is the partner's reseller relationship invitation:
// one reusable link per partner, with no customer data.
func (l Links) ResellerInvitation() string {
	return l.base() + "/Adminportal/Home?invType=ResellerRelationship&partnerId=" + url.QueryEscape(l.PartnerTenantID) + "&msppId=0&DAP=false#/BillingAccounts/partner-invitation"
}
