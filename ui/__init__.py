"""The Gradio web app. It is handed a KnowledgeBase and has no logic of its own."""
