package sweep

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func results() []Result {
	g := func(hs, lr string) map[string]json.RawMessage {
		return map[string]json.RawMessage{"model.hidden_size": json.RawMessage(hs), "model.loom.param": json.RawMessage(lr)}
	}
	return []Result{
		{Name: "a", Grid: g("64", `"sp"`), Seed: 1, Params: 1000, NonEmbeddingParams: 600, TrainLoss: 2.5, ValLoss: 2.0, Steps: 3, Tokens: 1536, Seconds: 1.234, Status: StatusOK},
		{Name: "b", Grid: g("64", `"sp"`), Seed: 2, Params: 1000, NonEmbeddingParams: 600, TrainLoss: 2.5, ValLoss: 2.2, Steps: 3, Tokens: 1536, Seconds: 1, Status: StatusOK},
		{Name: "c", Grid: g("128", `"sp"`), Seed: 1, Params: 3000, NonEmbeddingParams: 2000, TrainLoss: 2.25, ValLoss: 1.5, Steps: 3, Tokens: 1536, Seconds: 2, Status: StatusOK},
		{Name: "d", Grid: g("128", `"sp"`), Seed: 2, Params: 3000, NonEmbeddingParams: 2000, TrainLoss: 9, ValLoss: Float(math.NaN()), Steps: 1, Tokens: 512, Seconds: 0.5, Status: StatusDiverged, Error: "diverged"},
	}
}

func TestSweepWriteCSV(t *testing.T) {
	var b strings.Builder
	if err := WriteCSV(&b, []string{"model.hidden_size", "model.loom.param"}, results()); err != nil {
		t.Fatal(err)
	}
	want := `model.hidden_size,model.loom.param,seed,params,non_embedding_params,train_loss,val_loss,loss,steps,tokens,seconds,status
64,sp,1,1000,600,2.5,2,2,3,1536,1.23,ok
64,sp,2,1000,600,2.5,2.2,2.2,3,1536,1.00,ok
128,sp,1,3000,2000,2.25,1.5,1.5,3,1536,2.00,ok
128,sp,2,3000,2000,9,,,1,512,0.50,diverged
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestSweepWriteMarkdown(t *testing.T) {
	var b strings.Builder
	if err := WriteMarkdown(&b, []string{"model.hidden_size", "model.loom.param"}, results()); err != nil {
		t.Fatal(err)
	}
	want := `| model.hidden_size | model.loom.param | seed | params | non-embedding params | train loss | val loss | steps | tokens | seconds | status |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |
| 64 | sp | 1 | 1000 | 600 | 2.5000 | 2.0000 | 3 | 1536 | 1.2 | ok |
| 64 | sp | 2 | 1000 | 600 | 2.5000 | 2.2000 | 3 | 1536 | 1.0 | ok |
| 128 | sp | 1 | 3000 | 2000 | 2.2500 | 1.5000 | 3 | 1536 | 2.0 | ok |
| 128 | sp | 2 | 3000 | 2000 | 9.0000 | — | 1 | 512 | 0.5 | diverged |

Validation loss over seeds, per grid point (mean ± sample standard deviation):

| model.hidden_size | model.loom.param | runs | val loss |
| --- | --- | ---: | ---: |
| 64 | sp | 2 | 2.1000 ± 0.1414 |
| 128 | sp | 2 (1 finite) | 1.5000 |
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	// One seed per point: no second table.
	b.Reset()
	WriteMarkdown(&b, []string{"model.hidden_size"}, results()[1:3])
	if strings.Contains(b.String(), "over seeds") || strings.Count(b.String(), "\n") != 4 {
		t.Errorf("one seed:\n%s", b.String())
	}
}

// A diverged run's losses are null in JSON and read back as NaN.
func TestSweepResultJSON(t *testing.T) {
	r := results()[3]
	js, err := json.Marshal(r)
	if err != nil || !strings.Contains(string(js), `"val_loss":null`) {
		t.Fatalf("%s, %v", js, err)
	}
	var back Result
	if err := json.Unmarshal(js, &back); err != nil || !math.IsNaN(float64(back.ValLoss)) || back.TrainLoss != 9 {
		t.Errorf("%+v, %v", back, err)
	}
}
