package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/partnercloud/azure/cmd/localcloud/internal/apigateway"
	"github.com/partnercloud/azure/cmd/localcloud/internal/cloud"
	"github.com/partnercloud/azure/cmd/localcloud/internal/jwtissuer"
	"github.com/partnercloud/azure/cmd/localcloud/internal/lambdahost"
)

// benchResult is one line of `go test -bench` output.
type benchResult struct {
	pkg, name         string
	nsOp, p50, p99    float64
	bytesOp, allocsOp float64
}

// handlers runs the BenchmarkHandle of every function folder and the
// baselines in shared/api/apitest, and reports p50/p99 against
// BenchmarkConstant.
func (b *bench) handlers(ctx context.Context) error {
	args := []string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1",
		"-benchtime", strconv.Itoa(b.cfg.benchIters) + "x", "./shared/api/apitest/", "./functions/..."}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = b.cfg.root
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	res := parseBench(out.String())
	if err != nil && len(res) == 0 {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	var base, baseGet *benchResult
	for i := range res {
		switch {
		case strings.HasSuffix(res[i].pkg, "apitest") && res[i].name == "BenchmarkConstant":
			base = &res[i]
		case strings.HasSuffix(res[i].pkg, "apitest") && res[i].name == "BenchmarkConstantGetItem":
			baseGet = &res[i]
		}
	}
	if base == nil {
		return fmt.Errorf("no BenchmarkConstant in the output:\n%s", out.String())
	}
	b.r.h2("Warm handler latency, in-process")
	b.r.line("`go %s`: each API function's `BenchmarkHandle` (its handler through `api.Handle`, the real store over the embedded DynamoDB on loopback, fakes for Step Functions, SES and Microsoft), %d iterations, against `BenchmarkConstant` (a handler returning a constant). `BenchmarkConstantGetItem` (one GetItem, then a constant) shows the floor of any handler that reads the table once.", strings.Join(args, " "), b.cfg.benchIters)
	b.r.line("")
	var rows [][]string
	for _, x := range res {
		name := path.Base(x.pkg)
		if strings.HasSuffix(x.pkg, "apitest") {
			name = x.name + " (baseline)"
		}
		rows = append(rows, []string{name, fmt.Sprintf("%.1f µs", x.p50/1000), fmt.Sprintf("%.1f µs", x.p99/1000),
			fmt.Sprintf("%.0f", x.allocsOp), ratio(x.p50, base.p50), func() string {
				if baseGet == nil {
					return "—"
				}
				return ratio(x.p50, baseGet.p50)
			}()})
	}
	b.r.table([]string{"benchmark", "p50", "p99", "allocs/op", "p50 vs constant", "p50 vs one GetItem"}, rows)
	if err != nil {
		b.r.line("Some benchmarks failed: %v\n\n```\n%s\n```", err, tailString(out.String(), 3000))
		return err
	}
	return nil
}

func parseBench(out string) []benchResult {
	var res []benchResult
	pkg := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "pkg: ") {
			pkg = strings.TrimSpace(strings.TrimPrefix(l, "pkg: "))
			continue
		}
		f := strings.Fields(l)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		r := benchResult{pkg: pkg, name: f[0]}
		if i := strings.LastIndex(r.name, "-"); i > 0 {
			r.name = r.name[:i]
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				r.nsOp = v
			case "p50-ns":
				r.p50 = v
			case "p99-ns":
				r.p99 = v
			case "B/op":
				r.bytesOp = v
			case "allocs/op":
				r.allocsOp = v
			}
		}
		res = append(res, r)
	}
	return res
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// baselineGateway is the API Gateway emulator and a Lambda host of its own
// serving one route, GET /baseline, guarded by a JWT authorizer as the
// product's UI routes are, backed by the minimal function: the same code
// path as a product route, with a handler that returns a constant.
type baselineGateway struct {
	url   string
	token string
	host  *lambdahost.Host
	srv   *http.Server
}

func (b *bench) baseline(ctx context.Context) (*baselineGateway, error) {
	b.mu.Lock()
	gw := b.gatewayBaseline
	b.mu.Unlock()
	if gw != nil {
		return gw, nil
	}
	minimal, err := b.minimalBinary(ctx)
	if err != nil {
		return nil, err
	}
	host := lambdahost.New(lambdahost.Options{})
	if err := host.Register(lambdahost.Function{Name: "BaselineFunction", Binary: minimal, Timeout: 10 * time.Second}); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		host.Close()
		return nil, err
	}
	iss, err := jwtissuer.New(jwtissuer.DefaultIssuer(ln.Addr().String()), jwtissuer.DefaultAudience)
	if err != nil {
		host.Close()
		ln.Close()
		return nil, err
	}
	g, err := apigateway.New(apigateway.Config{Invoker: host, Verifier: iss,
		Routes: []apigateway.Route{{Method: "GET", Path: "/baseline", Function: "BaselineFunction", Auth: true}}})
	if err != nil {
		host.Close()
		ln.Close()
		return nil, err
	}
	tok, err := iss.Sign(cloud.UserClaims("acct-eligible", []string{"admin"}))
	if err != nil {
		host.Close()
		ln.Close()
		return nil, err
	}
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	gw = &baselineGateway{url: "http://" + ln.Addr().String(), token: tok, host: host, srv: srv}
	b.mu.Lock()
	b.gatewayBaseline = gw
	b.mu.Unlock()
	return gw, nil
}

func (g *baselineGateway) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = g.srv.Shutdown(ctx)
	g.host.Close()
}

// routeRequest is one request of the gateway phase.
type routeRequest struct {
	route, method, path, token string
	body                       []byte
	headers                    map[string]string
	note                       string
}

// sequential sends req n times (after 5 warm-up requests) and returns the
// sorted latencies and the status codes seen.
func sequential(ctx context.Context, client *http.Client, base string, req routeRequest, n int) ([]time.Duration, map[int]int, error) {
	statuses := map[int]int{}
	var lat []time.Duration
	deadline := time.Now().Add(2 * time.Minute)
	for i := -5; i < n && time.Now().Before(deadline); i++ {
		var body io.Reader
		if req.body != nil {
			body = bytes.NewReader(req.body)
		}
		hr, err := http.NewRequestWithContext(ctx, req.method, base+req.path, body)
		if err != nil {
			return nil, nil, err
		}
		if req.token != "" {
			hr.Header.Set("Authorization", "Bearer "+req.token)
		}
		if req.body != nil {
			hr.Header.Set("Content-Type", "application/json")
		}
		for k, v := range req.headers {
			hr.Header.Set(k, v)
		}
		start := time.Now()
		resp, err := client.Do(hr)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", req.method, req.path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if i >= 0 {
			lat = append(lat, d)
			statuses[resp.StatusCode]++
		}
	}
	return sortDurations(lat), statuses, nil
}

func statusList(m map[int]int) string {
	var codes []int
	for c := range m {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, strconv.Itoa(c))
	}
	return strings.Join(parts, ", ")
}

// gateway measures every route of the template through the local cloud's
// API Gateway (HTTP on loopback, sequential requests, warm instances)
// against the baseline route.
func (b *bench) gateway(ctx context.Context) error {
	if b.costCloud == nil || b.providerID == "" {
		return fmt.Errorf("the gateway phase needs the cost phase (an active provider to read)")
	}
	c := b.costCloud
	gw, err := b.baseline(ctx)
	if err != nil {
		return err
	}
	admin, err := c.Token("acct-eligible", []string{"admin"})
	if err != nil {
		return err
	}
	operator, err := c.Token("acct-partner-ops", []string{"operator"})
	if err != nil {
		return err
	}
	id := b.providerID
	reqs := map[string]routeRequest{
		"GET /provider-options":               {method: "GET", path: "/provider-options?type=azure", token: admin, note: "the options"},
		"GET /terms":                          {method: "GET", path: "/terms", token: admin, note: "terms and acceptance"},
		"GET /providers":                      {method: "GET", path: "/providers", token: admin, note: "first page"},
		"GET /providers/{id}":                 {method: "GET", path: "/providers/" + id, token: admin, note: "an active provider"},
		"POST /providers":                     {method: "POST", path: "/providers", token: admin, body: b.createBody, headers: map[string]string{"Idempotency-Key": b.createKey}, note: "idempotent replay of the create (no new provider)"},
		"PUT /accounts/{accountId}":           {method: "PUT", path: "/accounts/acct-bench", token: operator, body: []byte(`{"name":"Bench Org","billable":true,"reseller":false,"resellerCustomer":false,"usOffice":true,"demo":false,"internal":false}`), note: "operator writes an account"},
		"POST /providers/{id}/resend":         {method: "POST", path: "/providers/" + id + "/resend", token: admin, note: "refused: the provider is active"},
		"POST /providers/{id}/cancel":         {method: "POST", path: "/providers/" + id + "/cancel", token: admin, note: "refused: the provider is active"},
		"PUT /providers/{id}/owner-principal": {method: "PUT", path: "/providers/" + id + "/owner-principal", token: operator, body: []byte(`{"principalId":"20000000-0000-4000-8000-0000000000e1"}`), note: "refused: the provider is active"},
		"DELETE /providers/{id}":              {method: "DELETE", path: "/providers/01BENCHUNKNOWNPROVIDER0000", token: admin, note: "an unknown id (nothing deleted)"},
		"GET /consent/{invitationId}":         {method: "GET", path: "/consent/" + b.invitation, note: "landing page of a used link"},
		"GET /consent/callback":               {method: "GET", path: "/consent/callback", note: "callback without parameters"},
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	baseLat, baseStatus, err := sequential(ctx, client, gw.url, routeRequest{method: "GET", path: "/baseline", token: gw.token}, b.cfg.gatewayRequests)
	if err != nil {
		return err
	}
	base50, base99 := percentile(baseLat, 0.5), percentile(baseLat, 0.99)
	routes, err := apigateway.RoutesFromTemplate(c.Template())
	if err != nil {
		return err
	}
	b.r.h2("Warm latency through the local API Gateway")
	b.r.line("%d sequential requests per route (after 5 warm-up requests) over HTTP on loopback to the local cloud's gateway (JWT authorizer, the real function binary behind the Lambda Runtime API host, its DynamoDB), against `GET /baseline`: the same gateway and host code serving the minimal function behind the same JWT authorizer (a route of the bench only, not in template.yaml).", b.cfg.gatewayRequests)
	b.r.line("")
	rows := [][]string{{"GET /baseline (baseline)", statusList(baseStatus), ms(base50), ms(base99), "1.00×", "1.00×", "constant"}}
	for _, rt := range routes {
		key := rt.Key()
		req, ok := reqs[key]
		if !ok {
			rows = append(rows, []string{key, "—", "—", "—", "—", "—", "not measured: no request defined for this route"})
			continue
		}
		lat, st, err := sequential(ctx, client, c.APIURL(), req, b.cfg.gatewayRequests)
		if err != nil {
			return err
		}
		p50, p99 := percentile(lat, 0.5), percentile(lat, 0.99)
		rows = append(rows, []string{key, statusList(st), ms(p50), ms(p99), ratio(float64(p50), float64(base50)), ratio(float64(p99), float64(base99)), req.note})
	}
	b.r.table([]string{"route", "status", "p50", "p99", "p50 vs baseline", "p99 vs baseline", "request"}, rows)
	return nil
}
