package train

// ClassMetrics are one label's figures.
type ClassMetrics struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// Metrics summarise predictions against gold labels.
type Metrics struct {
	Rows        int                     `json:"rows"`
	Accuracy    float64                 `json:"accuracy"`
	MacroRecall float64                 `json:"macro_recall"`
	MacroF1     float64                 `json:"macro_f1"`
	PerClass    map[string]ClassMetrics `json:"per_class"`
}

// Evaluate computes accuracy, macro recall, macro F1 and per-class figures.
// gold and pred hold label indices; a class with no predictions has
// precision 0 (and so F1 0), as scikit-learn reports it.
func Evaluate(labels []string, gold, pred []int) Metrics {
	n := len(labels)
	tp := make([]int, n)
	predicted := make([]int, n)
	support := make([]int, n)
	correct := 0
	for i := range gold {
		support[gold[i]]++
		predicted[pred[i]]++
		if gold[i] == pred[i] {
			tp[gold[i]]++
			correct++
		}
	}
	m := Metrics{Rows: len(gold), PerClass: make(map[string]ClassMetrics, n)}
	if len(gold) > 0 {
		m.Accuracy = float64(correct) / float64(len(gold))
	}
	for c, l := range labels {
		var cm ClassMetrics
		cm.Support = support[c]
		if predicted[c] > 0 {
			cm.Precision = float64(tp[c]) / float64(predicted[c])
		}
		if support[c] > 0 {
			cm.Recall = float64(tp[c]) / float64(support[c])
		}
		if cm.Precision+cm.Recall > 0 {
			cm.F1 = 2 * cm.Precision * cm.Recall / (cm.Precision + cm.Recall)
		}
		m.PerClass[l] = cm
		m.MacroRecall += cm.Recall / float64(n)
		m.MacroF1 += cm.F1 / float64(n)
	}
	return m
}
