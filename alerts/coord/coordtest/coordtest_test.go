package coordtest

import (
	"maps"
	"os"
	"path/filepath"
	"testing"
)

func TestReadToolkit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "net.csv")
	if err := os.WriteFile(path, []byte("user_1,user_2,weight\na,b,3\nb,a,5\nc,c,9\nb,c,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := ReadToolkit(t, path)
	want := map[[2]string]int{{"a", "b"}: 3, {"b", "a"}: 5, {"b", "c"}: 1}
	if !maps.Equal(got, want) {
		t.Errorf("ReadToolkit = %v, want %v (self-loop c,c left out)", got, want)
	}
	if u, w := Undirected(got), map[[2]string]int{{"a", "b"}: 5, {"b", "c"}: 1}; !maps.Equal(u, w) {
		t.Errorf("Undirected = %v, want %v", u, w)
	}
}
