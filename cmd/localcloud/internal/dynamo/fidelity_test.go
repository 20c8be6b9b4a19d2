package dynamo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

type (
	avS    = types.AttributeValueMemberS
	avN    = types.AttributeValueMemberN
	avB    = types.AttributeValueMemberB
	avBOOL = types.AttributeValueMemberBOOL
	avNULL = types.AttributeValueMemberNULL
	avL    = types.AttributeValueMemberL
	avM    = types.AttributeValueMemberM
	avSS   = types.AttributeValueMemberSS
	avNS   = types.AttributeValueMemberNS
	avBS   = types.AttributeValueMemberBS
)

// everyType holds an attribute of every DynamoDB type, the empty ones (the
// empty string, binary, list and map) and NULL included, and the same values
// nested in lists and maps. The names are chosen so that an empty value
// follows a typed one in the sorted order the AWS SDK reads them in.
func everyType() map[string]types.AttributeValue {
	scalars := func() map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"a_s":      &avS{Value: "text"},
			"a_sEmpty": &avS{Value: ""},
			"b_n":      &avN{Value: "42"},
			"b_nFrac":  &avN{Value: "-1.5"},
			"c_b":      &avB{Value: []byte{0, 1, 2}},
			"c_bEmpty": &avB{Value: []byte{}},
			"d_true":   &avBOOL{Value: true},
			"d_false":  &avBOOL{Value: false},
			"e_null":   &avNULL{Value: true},
			"f_l":      &avL{Value: []types.AttributeValue{&avS{Value: "x"}, &avN{Value: "1"}, &avNULL{Value: true}, &avBOOL{Value: false}}},
			"f_lEmpty": &avL{Value: []types.AttributeValue{}},
			"g_m":      &avM{Value: map[string]types.AttributeValue{"k": &avS{Value: "v"}, "n": &avNULL{Value: true}}},
			"g_mEmpty": &avM{Value: map[string]types.AttributeValue{}},
			"h_ss":     &avSS{Value: []string{"a", "b"}},
			"h_ns":     &avNS{Value: []string{"1", "2.5"}},
			"h_bs":     &avBS{Value: [][]byte{{1}, {2, 3}}},
		}
	}
	item := scalars()
	var list []types.AttributeValue
	names := make([]string, 0, len(item))
	for k := range item {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		list = append(list, scalars()[k])
	}
	item["i_lAll"] = &avL{Value: list}
	item["j_mAll"] = &avM{Value: scalars()}
	item["k_deep"] = &avM{Value: map[string]types.AttributeValue{
		"l": &avL{Value: []types.AttributeValue{
			&avM{Value: map[string]types.AttributeValue{
				"l": &avL{Value: []types.AttributeValue{}}, "m": &avM{Value: map[string]types.AttributeValue{}},
				"null": &avNULL{Value: true}, "b": &avB{Value: []byte{}}, "s": &avS{Value: ""},
			}},
			&avL{Value: []types.AttributeValue{&avL{Value: []types.AttributeValue{}}}},
		}},
	}}
	return item
}

// withKey returns a copy of item with the table's keys.
func withKey(item map[string]types.AttributeValue, pk, sk string) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(item)+4)
	for k, v := range item {
		out[k] = v
	}
	out["pk"], out["sk"], out["gsi1pk"], out["gsi1sk"] = s(pk), s(sk), s("G#"+pk), s(sk)
	return out
}

// diffAV describes how got differs from want ("" when equal). Sets compare
// without order.
func diffAV(path string, want, got types.AttributeValue) string {
	if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) {
		return fmt.Sprintf("%s: type %T, want %T (%#v)", path, got, want, got)
	}
	switch w := want.(type) {
	case *avS:
		if g := got.(*avS); g.Value != w.Value {
			return fmt.Sprintf("%s: %q, want %q", path, g.Value, w.Value)
		}
	case *avN:
		if g := got.(*avN); g.Value != w.Value {
			return fmt.Sprintf("%s: %s, want %s", path, g.Value, w.Value)
		}
	case *avB:
		if g := got.(*avB); !bytes.Equal(g.Value, w.Value) {
			return fmt.Sprintf("%s: %v, want %v", path, g.Value, w.Value)
		}
	case *avBOOL:
		if g := got.(*avBOOL); g.Value != w.Value {
			return fmt.Sprintf("%s: %v, want %v", path, g.Value, w.Value)
		}
	case *avNULL:
		if g := got.(*avNULL); g.Value != w.Value {
			return fmt.Sprintf("%s: NULL %v, want %v", path, g.Value, w.Value)
		}
	case *avSS:
		if g := got.(*avSS); !sameSet(g.Value, w.Value) {
			return fmt.Sprintf("%s: %v, want %v", path, g.Value, w.Value)
		}
	case *avNS:
		if g := got.(*avNS); !sameSet(g.Value, w.Value) {
			return fmt.Sprintf("%s: %v, want %v", path, g.Value, w.Value)
		}
	case *avBS:
		g := got.(*avBS)
		gs, ws := make([]string, len(g.Value)), make([]string, len(w.Value))
		for i, b := range g.Value {
			gs[i] = string(b)
		}
		for i, b := range w.Value {
			ws[i] = string(b)
		}
		if !sameSet(gs, ws) {
			return fmt.Sprintf("%s: %v, want %v", path, g.Value, w.Value)
		}
	case *avL:
		g := got.(*avL)
		if len(g.Value) != len(w.Value) {
			return fmt.Sprintf("%s: list of %d, want %d", path, len(g.Value), len(w.Value))
		}
		for i := range w.Value {
			if d := diffAV(fmt.Sprintf("%s[%d]", path, i), w.Value[i], g.Value[i]); d != "" {
				return d
			}
		}
	case *avM:
		return diffItem(path+".", w.Value, got.(*avM).Value)
	default:
		return fmt.Sprintf("%s: unexpected %T", path, want)
	}
	return ""
}

func diffItem(prefix string, want, got map[string]types.AttributeValue) string {
	var out []string
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			out = append(out, prefix+k+": missing")
			continue
		}
		if d := diffAV(prefix+k, w, g); d != "" {
			out = append(out, d)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			out = append(out, prefix+k+": unexpected")
		}
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestEveryAttributeTypeRoundTrips writes an item with every attribute type
// through each write operation and reads it back through each read
// operation with the real SDK client: every value must come back with its
// type and value, the empty ones and NULL included.
func TestEveryAttributeTypeRoundTrips(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	tn := aws.String("partner")
	want := everyType()
	key := func(pk string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": s(pk), "sk": s("X")}
	}
	check := func(t *testing.T, what string, got map[string]types.AttributeValue, pk string) {
		t.Helper()
		if d := diffItem("", withKey(want, pk, "X"), got); d != "" {
			t.Errorf("%s: %s", what, d)
		}
	}
	get := func(t *testing.T, pk string) {
		t.Helper()
		out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: tn, Key: key(pk), ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatalf("GetItem %s: %v", pk, err)
		}
		check(t, "GetItem "+pk, out.Item, pk)
	}

	// PutItem, with a condition (minidyn evaluates the item then).
	_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tn, Item: withKey(want, "put", "X"),
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	get(t, "put")

	// UpdateItem setting every attribute from expression values. (The item
	// is put with its keys first: minidyn's index bookkeeping breaks other
	// items' index entries when an UpdateItem creates an indexed item.)
	_, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tn, Item: withKey(nil, "update", "X")})
	if err != nil {
		t.Fatalf("PutItem keys: %v", err)
	}
	var sets []string
	names, values := map[string]string{}, map[string]types.AttributeValue{}
	i := 0
	for k, v := range want {
		sets = append(sets, fmt.Sprintf("#a%d = :v%d", i, i))
		names[fmt.Sprintf("#a%d", i)], values[fmt.Sprintf(":v%d", i)] = k, v
		i++
	}
	up, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tn, Key: key("update"),
		UpdateExpression:         aws.String("SET " + strings.Join(sets, ", ")),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values, ReturnValues: types.ReturnValueAllNew})
	if err != nil {
		t.Fatalf("UpdateItem: %v", err)
	}
	check(t, "UpdateItem ALL_NEW", up.Attributes, "update")
	get(t, "update")

	// An update of another attribute keeps every value of the item.
	_, err = c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tn, Key: key("put"),
		UpdateExpression:          aws.String("SET extra = :one"),
		ConditionExpression:       aws.String("attribute_exists(e_null)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &avN{Value: "1"}}})
	if err != nil {
		t.Fatalf("UpdateItem other: %v", err)
	}
	want["extra"] = &avN{Value: "1"}
	get(t, "put")
	delete(want, "extra")
	// (minidyn's REMOVE of a top-level attribute does nothing; put the item back.)
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tn, Item: withKey(want, "put", "X")}); err != nil {
		t.Fatalf("PutItem again: %v", err)
	}
	get(t, "put")

	// TransactWriteItems: a conditional put and an update.
	_, err = c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: tn, Item: withKey(want, "tx", "X"), ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Update: &types.Update{TableName: tn, Key: key("update"), UpdateExpression: aws.String("SET touched = :t"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": &avBOOL{Value: true}}}},
		{ConditionCheck: &types.ConditionCheck{TableName: tn, Key: key("put"), ConditionExpression: aws.String("attribute_type(f_lEmpty, :l)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":l": s("L")}}},
	}})
	if err != nil {
		t.Fatalf("TransactWriteItems: %v", err)
	}
	get(t, "tx")
	// A cancelled transaction rolls the table back: nothing may change.
	_, err = c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: tn, Key: key("tx"), UpdateExpression: aws.String("SET a_s = :x"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":x": s("changed")}}},
		{Put: &types.Put{TableName: tn, Item: withKey(want, "put", "X"), ConditionExpression: aws.String("attribute_not_exists(pk)")}},
	}})
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		t.Fatalf("conflicting transaction: %v, want TransactionCanceledException", err)
	}
	get(t, "tx")
	get(t, "put")

	// Query, on the table and on the index; Scan.
	q, err := c.Query(ctx, &dynamodb.QueryInput{TableName: tn, KeyConditionExpression: aws.String("pk = :p"),
		FilterExpression:          aws.String("attribute_exists(f_lEmpty)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("tx")}})
	if err != nil || len(q.Items) != 1 {
		t.Fatalf("Query: %d items, %v", len(q.Items), err)
	}
	check(t, "Query", q.Items[0], "tx")
	gq, err := c.Query(ctx, &dynamodb.QueryInput{TableName: tn, IndexName: aws.String("gsi1"), KeyConditionExpression: aws.String("gsi1pk = :g"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":g": s("G#put")}})
	if err != nil || len(gq.Items) != 1 {
		t.Fatalf("Query gsi1: %d items, %v", len(gq.Items), err)
	}
	check(t, "Query gsi1", gq.Items[0], "put")
	sc, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: tn})
	if err != nil || len(sc.Items) != 3 {
		t.Fatalf("Scan: %d items, %v", len(sc.Items), err)
	}
	for _, it := range sc.Items {
		pk := it["pk"].(*avS).Value
		if pk == "update" {
			delete(it, "touched")
		}
		check(t, "Scan "+pk, it, pk)
	}

	// TransactGetItems and BatchGetItem.
	tg, err := c.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{{Get: &types.Get{TableName: tn, Key: key("put")}}}})
	if err != nil || len(tg.Responses) != 1 {
		t.Fatalf("TransactGetItems: %+v, %v", tg, err)
	}
	check(t, "TransactGetItems", tg.Responses[0].Item, "put")
	bg, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"partner": {Keys: []map[string]types.AttributeValue{key("tx")}}}})
	if err != nil || len(bg.Responses["partner"]) != 1 {
		t.Fatalf("BatchGetItem: %+v, %v", bg, err)
	}
	check(t, "BatchGetItem", bg.Responses["partner"][0], "tx")

	// DeleteItem returning the old item.
	del, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: tn, Key: key("tx"), ReturnValues: types.ReturnValueAllOld})
	if err != nil {
		t.Fatalf("DeleteItem: %v", err)
	}
	check(t, "DeleteItem ALL_OLD", del.Attributes, "tx")
}

// TestEmptyValuesInExpressions: an expression that compares or extends an
// empty value sees it as DynamoDB does.
func TestEmptyValuesInExpressions(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	tn := aws.String("partner")
	k := map[string]types.AttributeValue{"pk": s("e"), "sk": s("X")}
	_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tn, Item: map[string]types.AttributeValue{"pk": s("e"), "sk": s("X"),
		"l": &avL{Value: []types.AttributeValue{}}, "m": &avM{Value: map[string]types.AttributeValue{}}, "b": &avB{Value: []byte{}}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tn, Key: k,
		UpdateExpression:    aws.String("SET l = list_append(l, :x), m.k = :s"),
		ConditionExpression: aws.String("l = :empty AND m = :emptyMap AND b = :emptyB"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":x": &avL{Value: []types.AttributeValue{s("one")}}, ":s": s("v"),
			":empty": &avL{Value: []types.AttributeValue{}}, ":emptyMap": &avM{Value: map[string]types.AttributeValue{}}, ":emptyB": &avB{Value: []byte{}},
		},
		ReturnValues: types.ReturnValueAllNew})
	if err != nil {
		t.Fatalf("UpdateItem: %v", err)
	}
	want := map[string]types.AttributeValue{"pk": s("e"), "sk": s("X"),
		"l": &avL{Value: []types.AttributeValue{s("one")}}, "m": &avM{Value: map[string]types.AttributeValue{"k": s("v")}}, "b": &avB{Value: []byte{}}}
	if d := diffItem("", want, out.Attributes); d != "" {
		t.Error(d)
	}
}
