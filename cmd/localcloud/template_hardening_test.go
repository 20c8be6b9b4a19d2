package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"

	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
	"github.com/partnercloud/azure/shared/secret"
	"github.com/partnercloud/azure/shared/store"
)

// The hardening of template.yaml (issue 11): least privilege for the public
// functions, throttling, log retention, retained state, send-only SES and a
// configurable operator role. Values are resolved with the local cloud's
// resolver, with parameter overrides where a value must come from a
// parameter.

const templatePath = "../../template.yaml"

func loadTemplate(t *testing.T, params map[string]string) (*samtemplate.Template, *samtemplate.Resolver) {
	t.Helper()
	tpl, err := samtemplate.Load(templatePath, params)
	if err != nil {
		t.Fatal(err)
	}
	return tpl, tpl.Resolver(params)
}

// prop resolves a property of a resource (nil when absent).
func prop(t *testing.T, tpl *samtemplate.Template, res *samtemplate.Resolver, id string, path ...string) any {
	t.Helper()
	r, ok := tpl.Resources[id]
	if !ok {
		t.Fatalf("no resource %s", id)
	}
	if r.Properties == nil {
		return nil
	}
	v, err := res.Resolve(r.Properties)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// statement is one IAM policy statement, normalized.
type statement struct {
	Sid       string
	Effect    string
	Actions   []string
	Resources []string
	Condition map[string]any
}

// policies splits a function's or state machine's Policies into SAM policy
// template names (and managed policy names) and inline statements.
func policies(t *testing.T, tpl *samtemplate.Template, res *samtemplate.Resolver, id string) (templates []string, stmts []statement) {
	t.Helper()
	list, _ := prop(t, tpl, res, id, "Policies").([]any)
	for _, p := range list {
		switch p := p.(type) {
		case string:
			templates = append(templates, p)
		case map[string]any:
			raw, ok := p["Statement"]
			if !ok {
				for name := range p {
					templates = append(templates, name)
				}
				continue
			}
			items, ok := raw.([]any)
			if !ok {
				items = []any{raw}
			}
			for _, it := range items {
				m := it.(map[string]any)
				s := statement{Actions: strs(m["Action"]), Resources: strs(m["Resource"])}
				s.Sid, _ = m["Sid"].(string)
				s.Effect, _ = m["Effect"].(string)
				s.Condition, _ = m["Condition"].(map[string]any)
				stmts = append(stmts, s)
			}
		}
	}
	return templates, stmts
}

func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, _ := e.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

// actionsOf lists the statements' actions with a prefix ("dynamodb:"), sorted.
func actionsOf(stmts []statement, prefix string) []string {
	var out []string
	for _, s := range stmts {
		for _, a := range s.Actions {
			if strings.HasPrefix(a, prefix) && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out
}

// iamMatch reports whether an IAM resource pattern (* and ?) matches arn.
func iamMatch(pattern, arn string) bool {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String()).MatchString(arn)
}

const (
	localTableArn = "arn:aws:dynamodb:us-east-1:000000000000:table/ProvidersTable"
	localSecrets  = "arn:aws:secretsmanager:us-east-1:000000000000:secret:"
)

// TestTemplatePublicFunctionsLeastPrivilege: the two functions anyone on
// the internet can invoke get only the calls they make.
func TestTemplatePublicFunctionsLeastPrivilege(t *testing.T) {
	tpl, res := loadTemplate(t, nil)
	for _, id := range []string{"ConsentCallbackFunction", "InitialCredentialsFunction"} {
		templates, stmts := policies(t, tpl, res, id)
		for _, name := range templates {
			if strings.HasPrefix(name, "DynamoDB") || strings.HasPrefix(name, "SES") || strings.Contains(name, "Crud") || strings.Contains(name, "FullAccess") {
				t.Errorf("%s: broad policy template %s", id, name)
			}
		}
		for _, s := range stmts {
			if s.Effect != "Allow" {
				t.Errorf("%s %s: Effect %q", id, s.Sid, s.Effect)
			}
			for _, a := range s.Actions {
				if strings.Contains(a, "*") {
					t.Errorf("%s %s: wildcard action %s", id, s.Sid, a)
				}
			}
			for _, r := range s.Resources {
				if r == "*" {
					t.Errorf("%s %s: Resource *", id, s.Sid)
				}
			}
		}
	}

	// The consent callback: GetItem, PutItem, UpdateItem on the table;
	// DeleteItem only of tenant records (TENANT#…).
	_, stmts := policies(t, tpl, res, "ConsentCallbackFunction")
	if got, want := actionsOf(stmts, "dynamodb:"), []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}; !slices.Equal(got, want) {
		t.Errorf("ConsentCallbackFunction DynamoDB actions %v, want %v", got, want)
	}
	for _, s := range stmts {
		if len(actionsOf([]statement{s}, "dynamodb:")) == 0 {
			continue
		}
		if !slices.Equal(s.Resources, []string{localTableArn}) {
			t.Errorf("ConsentCallbackFunction %s: resources %v, want the table only", s.Sid, s.Resources)
		}
		if !slices.Contains(s.Actions, "dynamodb:DeleteItem") {
			continue
		}
		if len(s.Actions) != 1 {
			t.Errorf("ConsentCallbackFunction %s: DeleteItem shares a statement with %v", s.Sid, s.Actions)
		}
		cond, _ := s.Condition["ForAllValues:StringLike"].(map[string]any)
		if keys := strs(cond["dynamodb:LeadingKeys"]); !slices.Equal(keys, []string{"TENANT#*"}) || len(s.Condition) != 1 {
			t.Errorf("ConsentCallbackFunction %s: DeleteItem condition %v, want ForAllValues:StringLike dynamodb:LeadingKeys [TENANT#*]", s.Sid, s.Condition)
		}
	}

	// The initial credentials: Query on gsi1, GetItem and PutItem on the
	// table; only .../initial-admin secrets.
	_, stmts = policies(t, tpl, res, "InitialCredentialsFunction")
	if got, want := actionsOf(stmts, "dynamodb:"), []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"}; !slices.Equal(got, want) {
		t.Errorf("InitialCredentialsFunction DynamoDB actions %v, want %v", got, want)
	}
	if got, want := actionsOf(stmts, "secretsmanager:"), []string{"secretsmanager:DeleteSecret", "secretsmanager:GetSecretValue"}; !slices.Equal(got, want) {
		t.Errorf("InitialCredentialsFunction Secrets Manager actions %v, want %v", got, want)
	}
	initialAdmin := localSecrets + secret.ProviderSecretName("acct-1", "prv_01jd2y5q8w3v6t9x0b1c2d3e4f") + "/initial-admin-AbC123"
	notTheirs := []string{
		localSecrets + secret.ProviderSecretName("acct-1", "prv_01jd2y5q8w3v6t9x0b1c2d3e4f") + "-AbC123", // the existing option's client secret
		localSecrets + "ConsentSigningKey-AbC123",
		localSecrets + "partner-azure-credential-AbC123",
		localSecrets + secret.ProviderSecretName("acct-1", "prv_01jd2y5q8w3v6t9x0b1c2d3e4f") + "/initial-admin-extra/x-AbC123",
	}
	for _, s := range stmts {
		for _, a := range s.Actions {
			var allowed []string
			switch {
			case a == "dynamodb:Query":
				allowed = []string{localTableArn + "/index/gsi1"}
			case strings.HasPrefix(a, "dynamodb:"):
				allowed = []string{localTableArn}
			}
			if allowed != nil && !slices.Equal(s.Resources, allowed) {
				t.Errorf("InitialCredentialsFunction %s %s: resources %v, want %v", s.Sid, a, s.Resources, allowed)
			}
			if !strings.HasPrefix(a, "secretsmanager:") {
				continue
			}
			for _, r := range s.Resources {
				if !iamMatch(r, initialAdmin) {
					t.Errorf("InitialCredentialsFunction %s: %s does not match the initial admin secret %s", s.Sid, r, initialAdmin)
				}
				for _, arn := range notTheirs {
					if iamMatch(r, arn) {
						t.Errorf("InitialCredentialsFunction %s: %s reaches %s", s.Sid, r, arn)
					}
				}
			}
		}
	}
}

// TestTemplateInitialCredentialsRoutes: the link's GET and its form's POST
// reach the function without the JWT authorizer.
func TestTemplateInitialCredentialsRoutes(t *testing.T) {
	tpl, _ := loadTemplate(t, nil)
	f, ok := tpl.Function("InitialCredentialsFunction")
	if !ok {
		t.Fatal("no InitialCredentialsFunction")
	}
	methods := map[string]bool{}
	for _, ev := range f.Events {
		if ev.Path != "/providers/{id}/initial-credentials" || !ev.AuthNone {
			t.Errorf("event %s: %s %s, AuthNone %v", ev.Name, ev.Method, ev.Path, ev.AuthNone)
		}
		methods[strings.ToUpper(ev.Method)] = true
	}
	if len(methods) != 2 || !methods["GET"] || !methods["POST"] {
		t.Errorf("methods %v, want GET and POST", methods)
	}
}

// TestTemplateThrottling: every route has default throttling, and the
// public functions a reserved concurrency, all from parameters (0 reserves
// none).
func TestTemplateThrottling(t *testing.T) {
	tpl, res := loadTemplate(t, nil)
	for _, p := range []string{"ApiThrottlingBurstLimit", "ApiThrottlingRateLimit", "ConsentCallbackConcurrency", "InitialCredentialsConcurrency"} {
		if d := tpl.Parameters[p]; d.Type != "Number" || !d.HasDefault || d.Default == "0" || d.Default == "" {
			t.Errorf("parameter %s: %+v, want a Number with a positive default", p, d)
		}
	}
	settings, _ := prop(t, tpl, res, "HttpApi", "DefaultRouteSettings").(map[string]any)
	if settings["ThrottlingBurstLimit"] != tpl.Parameters["ApiThrottlingBurstLimit"].Default || settings["ThrottlingRateLimit"] != tpl.Parameters["ApiThrottlingRateLimit"].Default {
		t.Errorf("HttpApi DefaultRouteSettings %v", settings)
	}
	over := map[string]string{"ApiThrottlingBurstLimit": "7", "ApiThrottlingRateLimit": "3", "ConsentCallbackConcurrency": "4", "InitialCredentialsConcurrency": "2"}
	tpl2, res2 := loadTemplate(t, over)
	settings, _ = prop(t, tpl2, res2, "HttpApi", "DefaultRouteSettings").(map[string]any)
	if settings["ThrottlingBurstLimit"] != "7" || settings["ThrottlingRateLimit"] != "3" {
		t.Errorf("HttpApi DefaultRouteSettings %v do not follow the parameters", settings)
	}
	for id, param := range map[string]string{"ConsentCallbackFunction": "ConsentCallbackConcurrency", "InitialCredentialsFunction": "InitialCredentialsConcurrency"} {
		if got := prop(t, tpl, res, id, "ReservedConcurrentExecutions"); got != tpl.Parameters[param].Default {
			t.Errorf("%s ReservedConcurrentExecutions %v, want %s's default", id, got, param)
		}
		if got := prop(t, tpl2, res2, id, "ReservedConcurrentExecutions"); got != over[param] {
			t.Errorf("%s ReservedConcurrentExecutions %v, want %s", id, got, over[param])
		}
		tpl0, res0 := loadTemplate(t, map[string]string{param: "0"})
		if props, _ := prop(t, tpl0, res0, id).(map[string]any); props == nil {
			t.Errorf("%s has no properties", id)
		} else if v, ok := props["ReservedConcurrentExecutions"]; ok {
			t.Errorf("%s with %s 0: ReservedConcurrentExecutions %v, want none", id, param, v)
		}
	}
}

// TestTemplateLogging: every function logs to its own log group, every log
// group has the retention parameter's retention, both state machines log,
// and "*" resources are only the vended log delivery's, with their reason.
func TestTemplateLogging(t *testing.T) {
	tpl, res := loadTemplate(t, map[string]string{"LogRetentionDays": "14"})
	groups := map[string]string{} // local name → logical id
	for id, r := range tpl.Resources {
		if r.Type != "AWS::Logs::LogGroup" {
			continue
		}
		if got := prop(t, tpl, res, id, "RetentionInDays"); got != "14" {
			t.Errorf("log group %s: RetentionInDays %v, want the LogRetentionDays parameter", id, got)
		}
		name, err := res.String(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!Ref", Value: id})
		if err != nil {
			t.Fatal(err)
		}
		groups[name] = id
	}
	used := map[string]string{}
	for _, f := range tpl.Functions {
		name, _ := prop(t, tpl, res, f.LogicalID, "LoggingConfig", "LogGroup").(string)
		id, ok := groups[name]
		switch {
		case !ok:
			t.Errorf("%s: LoggingConfig.LogGroup %q is not a log group of the template", f.LogicalID, name)
		case used[id] != "":
			t.Errorf("%s and %s share the log group %s", f.LogicalID, used[id], id)
		}
		used[id] = f.LogicalID
	}
	if len(tpl.StateMachines) != 3 {
		t.Errorf("%d state machines, want 3 (migration, new customer, health check)", len(tpl.StateMachines))
	}
	for _, sm := range tpl.StateMachines {
		logging, _ := prop(t, tpl, res, sm.LogicalID, "Logging").(map[string]any)
		if level, _ := logging["Level"].(string); level == "" || level == "OFF" {
			t.Errorf("%s: Logging.Level %q", sm.LogicalID, level)
		}
		dest, _ := logging["Destinations"].([]any)
		var arn string
		if len(dest) == 1 {
			cw, _ := dest[0].(map[string]any)["CloudWatchLogsLogGroup"].(map[string]any)
			arn, _ = cw["LogGroupArn"].(string)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(arn, "arn:aws:logs:us-east-1:000000000000:log-group:"), ":*")
		if _, ok := groups[name]; !ok || !strings.HasPrefix(name, "/aws/vendedlogs/states/") {
			t.Errorf("%s: Logging destination %q is not a /aws/vendedlogs/states/ log group of the template", sm.LogicalID, arn)
		}
		_, stmts := policies(t, tpl, res, sm.LogicalID)
		if !slices.Contains(actionsOf(stmts, "logs:"), "logs:CreateLogDelivery") {
			t.Errorf("%s: no vended log delivery permissions", sm.LogicalID)
		}
	}

	// "*" only for log delivery actions, each such statement explained by
	// a comment in template.yaml.
	for id, r := range tpl.Resources {
		if r.Type != samtemplate.TypeFunction && r.Type != samtemplate.TypeStateMachine {
			continue
		}
		_, stmts := policies(t, tpl, res, id)
		for _, s := range stmts {
			if !slices.Contains(s.Resources, "*") {
				continue
			}
			for _, a := range s.Actions {
				if !strings.HasPrefix(a, "logs:") || !(strings.Contains(a, "LogDeliver") || strings.Contains(a, "ResourcePolic") || a == "logs:DescribeLogGroups") {
					t.Errorf("%s %s: %s on Resource *", id, s.Sid, a)
				}
			}
		}
		for _, n := range statementNodes(r.Properties) {
			if res := get(n, "Resource"); res != nil && res.Value == "*" && !strings.Contains(n.HeadComment+get(n, "Sid").HeadComment, "no resource-level permissions") {
				t.Errorf("%s: a Resource \"*\" statement without the comment saying why", id)
			}
		}
	}
}

// statementNodes lists the inline policy statements' YAML nodes.
func statementNodes(props *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	pols := get(props, "Policies")
	if pols == nil {
		return nil
	}
	for _, p := range pols.Content {
		if st := get(p, "Statement"); st != nil && st.Kind == yaml.SequenceNode {
			out = append(out, st.Content...)
		}
	}
	return out
}

func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// TestTemplateRetainsState: the table and the signing key survive a stack
// deletion or a replacement.
func TestTemplateRetainsState(t *testing.T) {
	tpl, _ := loadTemplate(t, nil)
	n := 0
	for id, r := range tpl.Resources {
		if r.Type != samtemplate.TypeTable && r.Type != samtemplate.TypeSecret {
			continue
		}
		n++
		if r.DeletionPolicy != "Retain" || r.UpdateReplacePolicy != "Retain" {
			t.Errorf("%s: DeletionPolicy %q, UpdateReplacePolicy %q; want Retain", id, r.DeletionPolicy, r.UpdateReplacePolicy)
		}
	}
	if n < 2 {
		t.Errorf("%d tables and secrets, want the table and the signing key", n)
	}
}

// linksSESv2 reports whether the function's package links the SES v2
// client (go list -deps): only such a function can send mail.
func linksSESv2(t *testing.T, pkg string) bool {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "./"+strings.TrimPrefix(pkg, "./"))
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return slices.Contains(strings.Fields(string(out)), "github.com/aws/aws-sdk-go-v2/service/sesv2")
}

// TestTemplateSESSendOnly: the functions that send mail (their package
// links the SES v2 client) may call ses:SendEmail from the MailFromIdentity
// identity, and nothing else of SES; the others nothing of SES.
func TestTemplateSESSendOnly(t *testing.T) {
	tpl, res := loadTemplate(t, map[string]string{"MailFromIdentity": "mail.test"})
	identity := "arn:aws:ses:us-east-1:000000000000:identity/mail.test"
	senders := 0
	for _, f := range tpl.Functions {
		sends := linksSESv2(t, f.GoPackage)
		templates, stmts := policies(t, tpl, res, f.LogicalID)
		for _, name := range templates {
			if strings.HasPrefix(name, "SES") || strings.HasPrefix(name, "AmazonSES") {
				t.Errorf("%s: SES policy template %s", f.LogicalID, name)
			}
		}
		got := actionsOf(stmts, "ses:")
		if !sends {
			if len(got) > 0 {
				t.Errorf("%s sends no mail but may call %v", f.LogicalID, got)
			}
			continue
		}
		senders++
		if !slices.Equal(got, []string{"ses:SendEmail"}) {
			t.Errorf("%s: SES actions %v, want ses:SendEmail only", f.LogicalID, got)
		}
		for _, s := range stmts {
			if len(actionsOf([]statement{s}, "ses:")) > 0 && !slices.Equal(s.Resources, []string{identity}) {
				t.Errorf("%s %s: SES resources %v, want %s", f.LogicalID, s.Sid, s.Resources, identity)
			}
		}
	}
	if senders == 0 {
		t.Error("no function sends mail: the check of main.go is stale")
	}
}

// TestTemplateOperatorRole: the functions that check the operators' role
// (their main.go reads OPERATOR_ROLE) get it from the OperatorRole
// parameter, whose default is operator.
func TestTemplateOperatorRole(t *testing.T) {
	tpl, _ := loadTemplate(t, nil)
	if p := tpl.Parameters["OperatorRole"]; p.Default != "operator" {
		t.Errorf("OperatorRole default %q, want operator", p.Default)
	}
	tpl2, _ := loadTemplate(t, map[string]string{"OperatorRole": "partner-ops"})
	checkers := 0
	for _, f := range tpl2.Functions {
		src, err := os.ReadFile(filepath.Join("../..", f.GoPackage, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		reads := strings.Contains(string(src), "api.OperatorRoleFromEnv")
		got, has := f.Environment["OPERATOR_ROLE"]
		switch {
		case reads && got != "partner-ops":
			t.Errorf("%s: OPERATOR_ROLE %q, want the OperatorRole parameter", f.LogicalID, got)
		case !reads && has:
			t.Errorf("%s: OPERATOR_ROLE set but not read", f.LogicalID)
		}
		if reads {
			checkers++
		}
	}
	if checkers != 3 {
		t.Errorf("%d functions read OPERATOR_ROLE, want 3 (put-account, set-owner-principal, operator-providers)", checkers)
	}
}

// TestTemplateOperatorProvidersLeastPrivilege: the operators' listing may
// only Query the operators' indexes: no item by key, no scan, no write.
func TestTemplateOperatorProvidersLeastPrivilege(t *testing.T) {
	tpl, res := loadTemplate(t, nil)
	templates, stmts := policies(t, tpl, res, "OperatorProvidersFunction")
	if len(templates) != 0 {
		t.Errorf("policy templates %v, want inline statements only", templates)
	}
	if got := actionsOf(stmts, ""); !slices.Equal(got, []string{"dynamodb:Query"}) {
		t.Errorf("actions %v, want dynamodb:Query only", got)
	}
	want := []string{localTableArn + "/index/" + store.IndexGSI2, localTableArn + "/index/" + store.IndexGSI3}
	for _, s := range stmts {
		if s.Effect != "Allow" || !slices.Equal(s.Resources, want) {
			t.Errorf("%s: %s on %v, want the indexes %v", s.Sid, s.Effect, s.Resources, want)
		}
	}
}

// TestTemplateTableMatchesStore: the template's table (which the local
// cloud creates) has the keys, attribute types and indexes the store's
// CreateTableInput (the tests' table) has, so both clouds serve the
// store's queries alike.
func TestTemplateTableMatchesStore(t *testing.T) {
	tpl, _ := loadTemplate(t, nil)
	if len(tpl.Tables) != 1 {
		t.Fatalf("%d tables", len(tpl.Tables))
	}
	tb := tpl.Tables[0]
	in := store.CreateTableInput("x")
	var attrs, wantAttrs []string
	for _, a := range tb.AttributeDefinitions {
		attrs = append(attrs, a.Name+":"+a.Type)
	}
	for _, a := range in.AttributeDefinitions {
		wantAttrs = append(wantAttrs, aws.ToString(a.AttributeName)+":"+string(a.AttributeType))
	}
	if !slices.Equal(attrs, wantAttrs) {
		t.Errorf("attribute definitions %v, the store's %v", attrs, wantAttrs)
	}
	keys := func(ks []types.KeySchemaElement) string {
		var out []string
		for _, k := range ks {
			out = append(out, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
		}
		return strings.Join(out, ",")
	}
	tplKeys := func(ks []samtemplate.KeyElement) string {
		var out []string
		for _, k := range ks {
			out = append(out, k.Name+":"+k.KeyType)
		}
		return strings.Join(out, ",")
	}
	if tplKeys(tb.KeySchema) != keys(in.KeySchema) {
		t.Errorf("key schema %s, the store's %s", tplKeys(tb.KeySchema), keys(in.KeySchema))
	}
	var got, want []string
	for _, ix := range tb.GlobalSecondaryIndexes {
		got = append(got, ix.Name+" "+tplKeys(ix.KeySchema)+" "+ix.ProjectionType)
	}
	for _, ix := range in.GlobalSecondaryIndexes {
		want = append(want, aws.ToString(ix.IndexName)+" "+keys(ix.KeySchema)+" "+string(ix.Projection.ProjectionType))
	}
	if !slices.Equal(got, want) {
		t.Errorf("indexes\n%v\nthe store's\n%v", got, want)
	}
}
