package deploy

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

func TestParseEnvFile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string // the whole error text, lines joined by "\n"
	}{
		{name: "empty", in: "", want: map[string]string{}},
		{name: "comments and blank lines", in: "# a comment\n\n   # indented comment\n\t\nA=1\n", want: map[string]string{"A": "1"}},
		{name: "plain", in: "DATABASE_URL=postgres://db:5432/fhir?sslmode=require", want: map[string]string{"DATABASE_URL": "postgres://db:5432/fhir?sslmode=require"}},
		{name: "blanks around", in: "  A = spaced value  \n", want: map[string]string{"A": "spaced value"}},
		{name: "export", in: "export A=1\nexport\tB=2\nexported=3\n", want: map[string]string{"A": "1", "B": "2", "exported": "3"}},
		{name: "empty value", in: "A=\nB=   \nC=\"\"\nD=''", want: map[string]string{"A": "", "B": "", "C": "", "D": ""}},
		{name: "inline comment", in: "A=value # comment\nB=va#lue\nC= #only a comment\nD=#x", want: map[string]string{"A": "value", "B": "va#lue", "C": "", "D": "#x"}},
		{name: "equals in value", in: "A=a=b=c", want: map[string]string{"A": "a=b=c"}},
		{name: "single quotes are literal", in: `A='$HOME \n "x" # not a comment'`, want: map[string]string{"A": `$HOME \n "x" # not a comment`}},
		{name: "double quote escapes", in: `A="line1\nline2\ttab \"q\" \\ \$ \x"`, want: map[string]string{"A": "line1\nline2\ttab \"q\" \\ $ \\x"}},
		{name: "comment after quotes", in: `A="x y" # why` + "\n" + `B='z'   `, want: map[string]string{"A": "x y", "B": "z"}},
		{name: "multi-line quoted", in: "KEY=\"-----BEGIN KEY-----\nabc\n-----END KEY-----\"\nB=2", want: map[string]string{"KEY": "-----BEGIN KEY-----\nabc\n-----END KEY-----", "B": "2"}},
		{name: "no interpolation", in: "A=1\nB=${A}", want: map[string]string{"A": "1", "B": "${A}"}},
		{name: "CRLF and BOM", in: "\ufeffA=1\r\nB=\"2\"\r\n", want: map[string]string{"A": "1", "B": "2"}},
		{name: "lowercase names pass, CheckEnv judges them", in: "log_phi=true", want: map[string]string{"log_phi": "true"}},

		{name: "no equals", in: "A=1\nJUST_A_NAME\n", wantErr: `line 2: expected KEY=value, got "JUST_A_NAME"`},
		{name: "bad name", in: "MY KEY=1\n=2", wantErr: "line 1: \"MY KEY\" is not a variable name\nline 2: \"\" is not a variable name"},
		{name: "duplicate", in: "A=1\n# again\nA=2", wantErr: "line 3: A is set again (first on line 1)"},
		{name: "unterminated", in: "A=1\nB=\"open\nC=3\n", wantErr: `line 2: B: the value's opening " is never closed`},
		{name: "text after quote", in: "A='x' y", wantErr: `line 1: A: unexpected "y" after the closing quote`},
		{name: "text after multi-line quote", in: "A='x\ny' z\nB=1", wantErr: `line 2: A: unexpected "z" after the closing quote`},
		{name: "every problem", in: "A\nB=1\nB=2\nC='x\n", wantErr: "line 1: expected KEY=value, got \"A\"\nline 3: B is set again (first on line 2)\nline 4: C: the value's opening ' is never closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEnvFile(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseEnvFile = %q, want error %q", got, tc.wantErr)
				}
				if err.Error() != tc.wantErr {
					t.Errorf("error:\n%s\nwant:\n%s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseEnvFile: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseEnvFileReadError(t *testing.T) {
	boom := errors.New("boom")
	if _, err := ParseEnvFile(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("err = %v, want it to wrap %v", err, boom)
	}
}
