package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions"
)

// TestTemplateIsComplete checks what sam build, sam local invoke and the
// local cloud rely on: every function has a build-<LogicalId> target in the
// root Makefile that builds its folder, an event in events/, and a Go
// package; every state machine definition is accepted by the engine after
// its substitutions.
func TestTemplateIsComplete(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if len(tpl.Functions) == 0 {
		t.Fatal("no functions in template.yaml")
	}
	for _, f := range tpl.Functions {
		t.Run(f.LogicalID, func(t *testing.T) {
			if !strings.HasPrefix(f.GoPackage, "./functions/") {
				t.Fatalf("Metadata.GoPackage = %q, want ./functions/<folder>", f.GoPackage)
			}
			folder := strings.TrimPrefix(f.GoPackage, "./functions/")
			if _, err := os.Stat(filepath.Join("../../functions", folder, "main.go")); err != nil {
				t.Errorf("no main.go for %s: %v", f.LogicalID, err)
			}
			target := regexp.MustCompile(`(?m)^build-` + regexp.QuoteMeta(f.LogicalID) + `:\n\t\$\(call lambda_build,` + regexp.QuoteMeta(folder) + `\)$`)
			if !target.Match(makefile) {
				t.Errorf("Makefile has no build-%s target building functions/%s", f.LogicalID, folder)
			}
			if !strings.Contains(string(makefile), f.LogicalID+":"+folder) {
				t.Errorf("Makefile FUNCTIONS list lacks %s:%s (make build)", f.LogicalID, folder)
			}
			if _, err := os.Stat(filepath.Join("../../events", folder+".json")); err != nil {
				t.Errorf("no event for %s: %v", f.LogicalID, err)
			}
		})
	}
	if len(tpl.StateMachines) == 0 {
		t.Fatal("no state machine in template.yaml")
	}
	for _, sm := range tpl.StateMachines {
		raw, err := os.ReadFile(sm.DefinitionPath)
		if err != nil {
			t.Fatal(err)
		}
		def := string(raw)
		for k, v := range sm.DefinitionSubstitutions {
			def = strings.ReplaceAll(def, "${"+k+"}", v)
		}
		if left := regexp.MustCompile(`\$\{[A-Za-z0-9]+\}`).FindString(def); left != "" {
			t.Errorf("%s: substitution %s has no value in DefinitionSubstitutions", sm.LogicalID, left)
		}
		e := stepfunctions.New(stepfunctions.Options{})
		if _, err := e.CreateStateMachine(sm.Name, def, "arn:aws:iam::000000000000:role/local"); err != nil {
			t.Errorf("%s: the engine refuses the definition: %v", sm.LogicalID, err)
		}
		e.Close()
	}
}
