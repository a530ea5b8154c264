from flask import Flask, request, jsonify
import joblib
import numpy as np
model = joblib.load('model.joblib') # Pre-trained scikit-learn model
app = Flask(__name__)
@app.route('/predict', methods=['POST'])
def predict():
    # Expect JSON input with a list of features
    input_data = request.json.get('features', [])
    prediction = model.predict([input_data])
    return jsonify({'prediction': prediction.tolist()})
if __name__ == '__main__':
    app.run(host='0.0.0.0', port=5000)
