package gateway

import (
	"strings"
)

// declareCommonAnswers adds to every operation of the document the answers
// the gateway may give on any route, so that no answer is undeclared:
//
//   - on every /api route: 400 (a request declaring two framings), 401 (a
//     malformed Authorization header is refused on public routes too), 403
//     (the admin scheme refuses levels 3 to 5 on any route), 429 (the
//     per-address rate limit) and 500 (InternalError, with nothing of the
//     cause);
//   - on every route with a request body: 413 (past the body limit) and 415
//     (a body that is not JSON);
//   - for every GET: the HEAD operation that answers its headers.
func declareCommonAnswers(paths map[string]any) {
	for path, v := range paths {
		item, _ := v.(map[string]any)
		if item == nil || !strings.HasPrefix(path, "/api/") {
			continue
		}
		for method, o := range item {
			op, _ := o.(map[string]any)
			if op == nil || method == "head" {
				continue
			}
			responses, _ := op["responses"].(map[string]any)
			if responses == nil {
				continue
			}
			add := []string{"400", "401", "403", "429", "500"}
			if _, hasBody := op["requestBody"]; hasBody {
				add = append(add, "413", "415")
			}
			for k, ref := range errorRefs(add...) {
				if _, declared := responses[k]; !declared {
					responses[k] = ref
				}
			}
		}
		if get, ok := item["get"].(map[string]any); ok {
			item["head"] = headOf(get)
		}
	}
}

// headOf describes the HEAD of a GET operation: the same parameters and
// statuses, with the headers and no body.
func headOf(get map[string]any) map[string]any {
	head := map[string]any{}
	for k, v := range get {
		switch k {
		case "operationId":
			id, _ := v.(string)
			head[k] = "head" + strings.ToUpper(id[:1]) + id[1:]
		case "summary":
			s, _ := v.(string)
			head[k] = s + " (headers only)"
		case "responses":
			src, _ := v.(map[string]any)
			out := map[string]any{}
			for status, r := range src {
				desc := "The headers of the GET answer"
				if m, ok := r.(map[string]any); ok {
					if d, ok := m["description"].(string); ok {
						desc = d + " (headers only)"
					}
				}
				out[status] = map[string]any{"description": desc}
			}
			head[k] = out
		default:
			head[k] = v
		}
	}
	return head
}
