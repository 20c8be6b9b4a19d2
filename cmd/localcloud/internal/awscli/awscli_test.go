package awscli

import "testing"

func TestSameShape(t *testing.T) {
	tests := []struct {
		name      string
		want, got string
		same      bool
	}{
		{"other values", `{"a":"x","n":1,"l":[{"b":true}]}`, `{"a":"y","n":2,"l":[{"b":false}]}`, true},
		{"missing key", `{"a":"x","b":1}`, `{"a":"x"}`, false},
		{"extra key", `{"a":"x"}`, `{"a":"x","b":null}`, false},
		{"other type", `{"a":"1"}`, `{"a":1}`, false},
		{"other length", `{"l":[1,2]}`, `{"l":[1]}`, false},
		{"nested", `{"m":{"k":{"S":"v"}}}`, `{"m":{"k":{"N":"1"}}}`, false},
		{"new ids as keys", `{"v":{"d11e22d7-e249-4d1f-be6f-a667ad3159d7":["AWSCURRENT"]}}`,
			`{"v":{"4a23d83d-e254-4547-bd10-af611bcd33d0":["AWSCURRENT"]}}`, true},
		{"xml same elements", `<R><A>1</A><B>x</B></R>`, `<R><A>2</A><B>y</B></R>`, true},
		{"xml other elements", `<R><A>1</A></R>`, `<R><C>1</C></R>`, false},
		{"json for xml", `<R/>`, `{}`, false},
		{"both empty", ``, ``, true},
		{"empty for json", `{}`, ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := SameShape([]byte(tt.want), []byte(tt.got))
			if (err == nil) != tt.same {
				t.Errorf("same %v, error %v", tt.same, err)
			}
		})
	}
}
