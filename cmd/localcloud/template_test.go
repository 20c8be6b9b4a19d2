package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/partnercloud/azure/cmd/localcloud/internal/samtemplate"
	"github.com/partnercloud/azure/cmd/localcloud/internal/stepfunctions"
)

// TestTemplateIsComplete checks what sam build, sam local invoke and the
// local cloud rely on: `make build-<LogicalId>` (what sam build runs) and
// `make build` build every function's folder, each function has an event
// in events/ and a Go package; every state machine definition is accepted
// by the engine after its substitutions.
func TestTemplateIsComplete(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tpl.Functions) == 0 {
		t.Fatal("no functions in template.yaml")
	}
	// make -n prints the commands without running them.
	dryRun := func(args ...string) (string, error) {
		if _, err := exec.LookPath("make"); err != nil {
			t.Skip("make not installed")
		}
		out, err := exec.Command("make", append([]string{"-s", "-n", "-C", "../.."}, args...)...).CombinedOutput()
		return string(out), err
	}
	all, err := dryRun("build")
	if err != nil {
		t.Fatalf("make -n build: %v\n%s", err, all)
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
			out, err := dryRun("build-"+f.LogicalID, "ARTIFACTS_DIR=/artifacts")
			if want := "-o /artifacts/bootstrap ./functions/" + folder + "\n"; err != nil || !strings.Contains(out, want) || !strings.Contains(out, "GOOS=linux GOARCH=arm64") {
				t.Errorf("make build-%s does not build functions/%s into $ARTIFACTS_DIR for linux/arm64 (the FUNCTIONS list maps LogicalId:folder): %v\n%s", f.LogicalID, folder, err, out)
			}
			if want := "-o bin/" + f.LogicalID + "/bootstrap ./functions/" + folder + "\n"; !strings.Contains(all, want) {
				t.Errorf("make build does not build functions/%s into bin/%s", folder, f.LogicalID)
			}
			if _, err := os.Stat(filepath.Join("../../events", folder+".json")); err != nil {
				t.Errorf("no event for %s: %v", f.LogicalID, err)
			}
		})
	}
	if out, err := dryRun("build-NoSuchFunction"); err == nil {
		t.Errorf("make build-NoSuchFunction succeeded:\n%s", out)
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
